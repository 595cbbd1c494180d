{
  "targets": [{
    "target_name": "gemm",
    "sources": ["gemm.c"],
    "cflags": ["-O2"],
    "libraries": ["-ldl", "-lpthread"]
  }]
}
