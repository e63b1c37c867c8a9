{
  "targets": [
    {
      "target_name": "agentvault_native",
      "sources": ["native/addon.c", "native/chunk-cipher.c", "native/scrypt.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"]
    }
  ]
}
