{
  "targets": [{
    "target_name": "gemm",
    "sources": ["gemm.c", "kernels.c"],
    "cflags": ["-O3", "-ffp-contract=off", "-fno-math-errno"],
    "libraries": ["-ldl", "-lpthread", "-lm"]
  }]
}
