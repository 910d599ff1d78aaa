"""Conan 2 recipe of funnel: `conan create . -s compiler.cppstd=20 --build=missing`.

Requirements take version ranges that also accept Debian 12's own versions (eigen 3.4,
nlohmann_json 3.11, fmt 9, hnswlib 0.6.2, Catch2 2.13), so the same recipe builds against
Conan Center and against the Debian-backed recipes of an offline index. hnswlib is not on Conan
Center: add funnel's own recipe index first (docs/packaging.md):
    conan remote add funnel-recipes <funnel checkout>/conan --type=local-recipes-index
"""
import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir

required_conan_version = ">=2.0"


class FunnelConan(ConanFile):
    name = "funnel"
    description = ("Embeddable C++20 library for serving ML inside C++ services: "
                   "retrieval, ranking, re-ranking")
    license = "Apache-2.0"
    url = "https://github.com/funnel-ml/funnel"
    homepage = "https://github.com/funnel-ml/funnel"
    topics = ("machine-learning", "ranking", "retrieval", "recommender", "hnsw", "gbdt")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    # onnx: also build funnel::onnx, the ONNX evaluator and neural scorers (protobuf + onnx).
    options = {"shared": [True, False], "fPIC": [True, False], "onnx": [True, False]}
    default_options = {"shared": False, "fPIC": True, "onnx": False}
    exports_sources = ("CMakeLists.txt", "LICENSE", "cmake/*", "include/*", "src/*", "tests/*")

    def set_version(self):
        cmakelists = load(self, os.path.join(self.recipe_folder, "CMakeLists.txt"))
        self.version = re.search(r"project\(funnel\s+VERSION\s+([0-9.]+)", cmakelists).group(1)

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def configure(self):
        if self.options.shared:
            self.options.rm_safe("fPIC")

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        # Public headers include Eigen, nlohmann/json and fmt: their headers are transitive.
        self.requires("eigen/[>=3.3 <4]", transitive_headers=True)
        self.requires("nlohmann_json/[>=3.10 <4]", transitive_headers=True)
        self.requires("fmt/[>=9 <12]", transitive_headers=True, transitive_libs=True)
        # Private to src/: hnswlib (one translation unit) and zlib (gzipped IDX files).
        self.requires("hnswlib/[>=0.6.2 <1]")
        self.requires("zlib/[>=1.2.11 <2]")
        if self.options.onnx:
            # Private to funnel::onnx: ONNX's schema (target onnx_proto) and protobuf.
            self.requires("onnx/[>=1.12 <2]")
            self.requires("protobuf/[>=3.21 <6]")

    def build_requirements(self):
        self.test_requires("catch2/[>=2.13 <4]")

    def validate(self):
        check_min_cppstd(self, 20)

    def generate(self):
        CMakeDeps(self).generate()
        tc = CMakeToolchain(self)
        tc.cache_variables["FUNNEL_BUILD_TESTS"] = not self._skip_tests
        tc.cache_variables["FUNNEL_BUILD_EXAMPLES"] = False
        tc.cache_variables["FUNNEL_BUILD_BENCHMARKS"] = False
        tc.cache_variables["FUNNEL_INSTALL"] = True
        tc.cache_variables["FUNNEL_ONNX"] = "ON" if self.options.onnx else "OFF"
        tc.generate()

    @property
    def _skip_tests(self):
        return bool(self.conf.get("tools.build:skip_test", default=False))

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()
        if not self._skip_tests:
            # The unit tests of every module. The tests/package consumer projects are excluded
            # here: they configure nested CMake projects outside Conan's toolchain (they run in
            # CI); test_package/ is the Conan consumer test.
            self.run('ctest --output-on-failure --timeout 900 -E "^package\\."',
                     cwd=self.build_folder, env="conanrun")

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        CMake(self).install()
        # Conan consumers get CMakeDeps' config files, not ours.
        rmdir(self, os.path.join(self.package_folder, "lib", "cmake"))
        rmdir(self, os.path.join(self.package_folder, "share"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "funnel")
        self.cpp_info.set_property("cmake_target_name", "funnel::funnel")
        system_libs = ["pthread", "m"] if self.settings.os in ("Linux", "FreeBSD") else []
        if not self.options.onnx:
            self.cpp_info.libs = ["funnel"]
            self.cpp_info.system_libs = system_libs
            return
        core = self.cpp_info.components["funnel"]
        core.set_property("cmake_target_name", "funnel::funnel")
        core.libs = ["funnel"]
        core.system_libs = system_libs
        core.requires = ["eigen::eigen", "nlohmann_json::nlohmann_json", "fmt::fmt",
                         "hnswlib::hnswlib", "zlib::zlib"]
        onnx = self.cpp_info.components["onnx"]
        onnx.set_property("cmake_target_name", "funnel::onnx")
        onnx.libs = ["funnel_onnx"]
        onnx.requires = ["funnel", "onnx::onnx", "protobuf::libprotobuf"]
