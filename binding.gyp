{
  "variables": {
    # The official BLAKE3 C implementation, as the @c4312/blake3-native package ships it (its own
    # Node binding is not built: package.json's allowScripts). native/chunk-id.c calls it.
    # Relative to this file: make cannot build a source named by an absolute path.
    "blake3_dir": "<!(node -p \"require('path').relative('.', require('path').join(require('path').dirname(require.resolve('@c4312/blake3-native/package.json')), 'c'))\")"
  },
  "targets": [
    {
      "target_name": "blake3",
      "type": "static_library",
      "sources": ["<(blake3_dir)/blake3.c", "<(blake3_dir)/blake3_dispatch.c", "<(blake3_dir)/blake3_portable.c"],
      "cflags": ["-O3", "-fPIC"],
      "conditions": [
        # SIMD kernels, chosen at run time by CPU features (blake3_dispatch.c).
        ["OS!='win' and target_arch=='x64'", {
          "sources": [
            "<(blake3_dir)/blake3_sse2_x86-64_unix.S",
            "<(blake3_dir)/blake3_sse41_x86-64_unix.S",
            "<(blake3_dir)/blake3_avx2_x86-64_unix.S",
            "<(blake3_dir)/blake3_avx512_x86-64_unix.S"
          ]
        }],
        ["target_arch=='arm64'", {
          "sources": ["<(blake3_dir)/blake3_neon.c"],
          "defines": ["BLAKE3_USE_NEON=1"]
        }],
        # Portable C only: other architectures, and Windows (whose assembler files are not listed).
        ["(OS=='win' and target_arch=='x64') or (target_arch!='x64' and target_arch!='arm64')", {
          "defines": ["BLAKE3_NO_SSE2", "BLAKE3_NO_SSE41", "BLAKE3_NO_AVX2", "BLAKE3_NO_AVX512", "BLAKE3_USE_NEON=0"]
        }]
      ],
      "direct_dependent_settings": { "include_dirs": ["<(blake3_dir)"] }
    },
    {
      "target_name": "agentvault_native",
      "dependencies": ["blake3"],
      "sources": ["native/addon.c", "native/args.c", "native/chunk-cipher.c", "native/chunk-id.c", "native/scrypt.c", "native/zero-range.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"]
    }
  ]
}
