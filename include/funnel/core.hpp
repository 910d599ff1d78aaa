#pragma once
/// @file core.hpp
/// @brief Umbrella header of funnel's core module.

#include <funnel/core/contract.hpp>
#include <funnel/core/csv.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/gzip.hpp>
#include <funnel/core/idx.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/libsvm.hpp>
#include <funnel/core/mapped_file.hpp>
#include <funnel/core/random.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/core/vecs.hpp>
#include <funnel/core/views.hpp>
