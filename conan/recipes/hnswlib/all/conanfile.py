"""hnswlib (header-only approximate nearest neighbours), packaged from upstream's release tarball.

Conan Center has no hnswlib recipe; funnel ships this one in a local-recipes-index folder:
    conan remote add funnel-recipes <funnel checkout>/conan --type=local-recipes-index
The package provides the CMake target upstream's own config exports, hnswlib::hnswlib.
"""
import os

from conan import ConanFile
from conan.tools.files import copy, get
from conan.tools.layout import basic_layout

required_conan_version = ">=2.0"


class HnswlibConan(ConanFile):
    name = "hnswlib"
    description = "Header-only C++/python library for fast approximate nearest neighbors (HNSW)"
    license = "Apache-2.0"
    url = "https://github.com/funnel-ml/funnel/tree/main/conan/recipes/hnswlib"
    homepage = "https://github.com/nmslib/hnswlib"
    topics = ("ann", "nearest-neighbors", "hnsw", "vector-search", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    no_copy_source = True

    def layout(self):
        basic_layout(self, src_folder="src")

    def package_id(self):
        self.info.clear()

    def source(self):
        get(self, **self.conan_data["sources"][self.version], strip_root=True)

    def build(self):
        pass  # header-only

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        copy(self, "*.h", os.path.join(self.source_folder, "hnswlib"),
             os.path.join(self.package_folder, "include", "hnswlib"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "hnswlib")
        self.cpp_info.set_property("cmake_target_name", "hnswlib::hnswlib")
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        if self.settings.os in ("Linux", "FreeBSD"):
            self.cpp_info.system_libs = ["pthread"]  # hnswlib's parallel helpers use std::thread
