list(APPEND funnel_sources
  src/core/csv.cpp
  src/core/file.cpp
  src/core/json.cpp)
