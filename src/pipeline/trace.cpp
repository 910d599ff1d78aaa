#include <funnel/pipeline/pipeline.hpp>

namespace funnel::pipeline {

json to_json(const trace& t) {
  json stages = json::array();
  for (const auto& s : t.stages) {
    stages.push_back({{"stage", s.stage},
                      {"micros", s.micros},
                      {"candidates_in", s.candidates_in},
                      {"candidates_out", s.candidates_out},
                      {"note", s.note},
                      {"cpu_micros", s.cpu_micros}});
  }
  return {{"request_id", t.request_id},       {"stages", std::move(stages)},
          {"degraded", t.degraded},           {"warnings", t.warnings},
          {"model_version", t.model_version}, {"canary", t.canary},
          {"total_micros", t.total_micros},   {"total_cpu_micros", t.total_cpu_micros}};
}

}  // namespace funnel::pipeline
