"""Inference. `worker*` modules run in a child process and are the only ones that import llama_cpp;
everything else here is the parent's side: how to start a child, the client proxy, the Engine interface.
"""
