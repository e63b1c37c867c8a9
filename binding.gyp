{
  "targets": [
    {
      "target_name": "chunk_cipher",
      "sources": ["native/chunk-cipher.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"]
    }
  ]
}
