// A consumer program: it includes funnel's umbrella header and uses the core vocabulary.
#include <funnel/funnel.hpp>

#include <cstdio>

int main() {
  funnel::json j = funnel::json_header("consumer", 1);
  funnel::check_json_header(j, "consumer", 1);
  funnel::matrix m(2, 2, 1.0F);
  const float total = m.view().as_eigen().sum();
  try {
    (void)funnel::parse_csv("a,b\n1\n", "consumer.csv");
    return 1;
  } catch (const funnel::parse_error& e) {
    std::printf("funnel consumer ok: sum=%g, error id=%s\n", static_cast<double>(total),
                e.id().c_str());
  }
  return total == 4.0F ? 0 : 1;
}
