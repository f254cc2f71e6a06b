# node-gyp build of the Node-API addon. The core source list is the one in
# CMakeLists.txt (MP_CORE_SOURCES); test/js/build-files.test.ts checks that
# both lists agree. Every .c file of native/napi is glue and is compiled.
{
  "targets": [
    {
      "target_name": "memory_pool_core",
      "sources": [
        "native/core/common.c",
        "native/core/os.c",
        "native/core/fixed_pool.c",
        "native/core/fixed_pool_inspect.c",
        "native/core/arena.c",
        "native/core/buddy.c",
        "native/core/buddy_inspect.c",
        "native/core/buddy_place.c",
        "native/core/slab.c",
        "native/core/slab_lifecycle.c",
        "native/core/slab_inspect.c",
        "native/core/slab_place.c",
        "native/core/tlsf.c",
        "native/core/tlsf_inspect.c",
        "native/core/tlsf_cache.c",
        "native/core/tlsf_place.c",
        "native/core/tlsf_small.c",
        "native/core/fitlist.c",
        "native/core/fitlist_tree.c",
        "native/core/fitlist_tree_query.c",
        "native/core/fitlist_meta.c",
        "native/core/fitlist_inspect.c",
        "native/core/fitlist_place.c",
        "native/core/pool.c",
        "native/core/pool_access.c",
        "native/core/pool_backend.c",
        "native/core/pool_owner.c",
        "native/core/pool_defrag.c",
        "native/core/pool_inspect.c",
        "<!@(node -p \"require('fs').readdirSync('native/napi').filter(f => f.endsWith('.c')).sort().map(f => 'native/napi/' + f).join(' ')\")"
      ],
      "include_dirs": ["include", "native/core"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=c11", "-O3", "-fvisibility=hidden", "-Wall", "-Wextra"],
      "cflags!": ["-O2", "-O0"],
      "xcode_settings": {
        "GCC_C_LANGUAGE_STANDARD": "c11",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "AdditionalOptions": ["/std:c11", "/experimental:c11atomics"], "Optimization": 2 }
      }
    }
  ]
}
