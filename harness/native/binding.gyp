{
  "targets": [{
    "target_name": "gemm",
    "sources": ["gemm.c", "kernels.c"],
    "cflags": ["-O3", "-ffp-contract=off"],
    "libraries": ["-ldl", "-lpthread", "-lm"]
  }]
}
