#pragma once
/// @file drift.hpp
/// @brief funnel's drift module: two-sample tests and divergences equal to scipy 1.10, streaming
/// change detectors following river, mergeable reference/live profiles and monitors with JSON,
/// Prometheus and HTML reports. See docs/drift.md.

#include <funnel/drift/detectors.hpp>
#include <funnel/drift/ks.hpp>
#include <funnel/drift/monitor.hpp>
#include <funnel/drift/profile.hpp>
#include <funnel/drift/stats.hpp>
