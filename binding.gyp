# Fast build path (npm install): compiles only the moodaxis addon against node-llama-cpp's prebuilt
# llama.cpp shared libraries. scripts/build-addon.mjs prepares the headers and library folder and passes
# them in; the source list is shared with CMakeLists.txt (native/sources.txt).
{
  "targets": [
    {
      "target_name": "moodaxis",
      "sources": ["<!@(node scripts/gyp-config.mjs sources)"],
      "include_dirs": [
        "<!@(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/gyp-config.mjs includes)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "MOODAXIS_DYNAMIC_BACKENDS"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-Wall", "-Wno-unused-parameter"],
      "libraries": ["<!@(node scripts/gyp-config.mjs libs)", "-Wl,-rpath,'$$ORIGIN'", "-ldl"]
    }
  ]
}
