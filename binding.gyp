{
  "targets": [
    {
      "target_name": "agentvault_native",
      "sources": ["native/addon.c", "native/args.c", "native/chunk-cipher.c", "native/scrypt.c", "native/zero-range.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"]
    }
  ]
}
