{
  "targets": [
    {
      "target_name": "cytoimagenet_train",
      "sources": ["src/net.cc", "src/bn_swish.cc", "src/depthwise.cc", "src/se_block.cc", "src/kernel_check.cc", "src/addon.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node libtorch-paths.cjs include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-frtti", "-Wno-unused-parameter", "-Wno-psabi", "-fopenmp"],
      "ldflags": ["-fopenmp"],
      "libraries": [
        "-L<!(node libtorch-paths.cjs libdir)",
        "-Wl,-rpath,<!(node libtorch-paths.cjs libdir)",
        "-Wl,--no-as-needed",
        "<!@(node libtorch-paths.cjs libs)",
        "-Wl,--as-needed"
      ]
    }
  ]
}
