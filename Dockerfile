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
RUN pip install --no-cache-dir --user -r requirements.txt
COPY --chown=user . .
RUN pip install --no-cache-dir --user --no-deps -e .
# Fetch Hub checkpoints at build time where the Hub is reachable; offline builds keep the
# packaged fallbacks (the app says which model serves).
RUN virtart weights --fetch || true

EXPOSE 7860
CMD ["python", "app.py"]
