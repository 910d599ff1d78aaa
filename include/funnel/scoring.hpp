#pragma once
/// @file scoring.hpp
/// @brief Umbrella header of funnel's scoring module: logistic regression, tree ensembles
/// (XGBoost / LightGBM import, fast inference, TreeSHAP) and GBDT training.

#include <funnel/scoring/gbdt.hpp>
#include <funnel/scoring/lightgbm.hpp>
#include <funnel/scoring/logistic.hpp>
#include <funnel/scoring/logistic_ftrl.hpp>
#include <funnel/scoring/tree_ensemble.hpp>
#include <funnel/scoring/treeshap.hpp>
#include <funnel/scoring/xgboost.hpp>
