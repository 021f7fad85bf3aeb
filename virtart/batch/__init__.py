"""Albums and clip folders: one recipe applied to many files, on Ray Data.

Modules, bottom-up: :mod:`~virtart.batch.recipe` (the recipe: a stylize request whose regions
are click-free prompts, resolved per photo), :mod:`~virtart.batch.inputs` (files, folders and
path lists to work items), :mod:`~virtart.batch.manifest` (the JSON Lines record that makes a
rerun resume), :mod:`~virtart.batch.worker` (the per-worker callable that loads its models once
and writes each output atomically) and :mod:`~virtart.batch.run` (the Ray driver). Only
:mod:`~virtart.batch.run` imports Ray; the app never imports this package.
"""
