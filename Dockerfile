# VirtArt as a Docker Space (or any container host): runs as uid 1000 on port 7860.
FROM python:3.11-slim

RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 && rm -rf /var/lib/apt/lists/*
RUN useradd -m -u 1000 user
USER user
ENV HOME=/home/user \
    PATH=/home/user/.local/bin:$PATH \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False \
    VIRTART_CACHE=/home/user/app/.cache
WORKDIR /home/user/app

COPY --chown=user requirements.txt .
RUN pip install --no-cache-dir --user -r requirements.txt \
 && pip uninstall -y opencv-python \
 && pip install --no-cache-dir --user --force-reinstall --no-deps "$(grep '^opencv-contrib-python-headless==' requirements.txt)"
# The Hub models the app uses by default (checkpoints.APP_MODELS: SAM ViT-B, VGG-19,
# YOLO11n-seg; not SAM ViT-L/H), downloaded and sha256-checked (the served digest recorded
# beside each file) in a layer that code changes do not invalidate: only the checkpoint
# registry and its helpers are copied for it. Offline builds keep the packaged fallbacks, and
# the app fetches what is missing at start-up, in the background.
COPY --chown=user virtart/__init__.py virtart/errors.py virtart/settings.py virtart/hub.py virtart/checkpoints.py virtart/
RUN python -c "from virtart import checkpoints; checkpoints.fetch(checkpoints.APP_MODELS)"
COPY --chown=user . .
RUN pip install --no-cache-dir --user --no-deps -e .

EXPOSE 7860
CMD ["python", "app.py"]
