"""Deployment of trained actors: export to sparse safetensors and ONNX with a size and latency
report (``export``, needs torch), and the runtime that acts from an exported file with numpy
only (``runtime``). This package imports nothing, so ``runtime`` loads without torch."""
