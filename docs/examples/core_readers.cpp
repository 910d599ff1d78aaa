// docs/core.md, readers: libsvm (XGBoost's agaricus), gzipped IDX (Fashion-MNIST) and fvecs.
#include <funnel/core.hpp>

#include <cstdio>

int main() {
  // libsvm: indices as written, so ids 1..126 give 127 columns (column 0 empty), as in XGBoost.
  const auto agaricus = funnel::read_libsvm("tests/data/core/agaricus.txt.test");
  std::printf("agaricus: %zu rows, %zu cols, %zu stored values\n", agaricus.features.rows(),
              agaricus.features.cols, agaricus.features.nonzeros());

  // IDX: gzip is detected by its magic number; 1/255 scales pixels to [0, 1].
  const auto fashion = funnel::read_idx_dataset(
      "tests/data/core/fashion-t10k-100-images-idx3-ubyte.gz",
      "tests/data/core/fashion-t10k-100-labels-idx1-ubyte.gz", 1.0F / 255.0F);
  std::printf("fashion: %zu images of %zu pixels, first label %d\n", fashion.images.rows(),
              fashion.images.cols(), fashion.labels[0]);

  // fvecs: written atomically, read back bit for bit.
  funnel::write_fvecs("/tmp/funnel-doc-fashion.fvecs", fashion.images);
  const auto back = funnel::read_fvecs("/tmp/funnel-doc-fashion.fvecs", {.max_rows = 10});
  std::printf("fvecs: read back %zu x %zu\n", back.rows(), back.cols());

  // Malformed input: a typed error naming the file and the line.
  try {
    (void)funnel::parse_libsvm("1 4:1 2:1\n", "bad.svm");
  } catch (const funnel::parse_error& e) {
    std::printf("%s (id %s)\n", e.what(), e.id().c_str());
  }
  return back(3, 100) == fashion.images(3, 100) ? 0 : 1;
}
