#!/usr/bin/env bash
# Upgrades C++ sources written against funnel 0.1 to the 0.2 names (CHANGELOG.md, "Renamed").
# Rewrites, in place, every renamed identifier whose old spelling cannot mean anything else,
# then lists the lines it could not decide (names that 0.2 kept in one module and changed in
# another, member functions whose receiver type a script cannot see, error ids in strings):
# fix those by hand with the CHANGELOG beside you. Running it twice changes nothing more.
#   scripts/upgrade-0.2.sh path ...        (files or folders; C++ sources below folders)
#   scripts/upgrade-0.2.sh --check path    (lists what it would change, writes nothing)
set -euo pipefail
check=0
if [[ ${1:-} == --check ]]; then
  check=1
  shift
fi
[[ $# -gt 0 ]] || {
  sed -n '2,8s/^# \{0,1\}//p' "$0"
  exit 2
}

# old -> new, whole words (perl regexes; \b is a word boundary). Order matters only where one
# old name contains another.
renames=(
  # pipeline stage concepts and their holders
  'pipeline::Retriever\b' 'pipeline::RetrievalStage'
  'pipeline::Filter\b' 'pipeline::FilterStage'
  '\bFeatureBuilder\b' 'FeatureStage'
  '\bScorer\b' 'ScoringStage'
  'pipeline::Reranker\b' 'pipeline::RerankStage'
  '\bany_retriever\b' 'any_retrieval_stage'
  '\bany_filter\b' 'any_filter_stage'
  '\bany_feature_builder\b' 'any_feature_stage'
  '\bany_scorer\b' 'any_scoring_stage'
  'pipeline::any_reranker\b' 'pipeline::any_rerank_stage'
  # other concepts
  'bandits::ExplorationPolicy\b' 'bandits::Bandit'
  'features::component\b' 'features::Component'
  '\bstatic_component\b' 'StaticComponent'
  '\boof_component\b' 'OofComponent'
  # options structs and the model header
  '\bhnsw_params\b' 'hnsw_options'
  '\bmab_config\b' 'mab_options'
  '\blinear_config\b' 'linear_bandit_options'
  '\bensemble_params\b' 'ensemble_header'
  # counts (member access and designated initializers only: a local variable keeps its name)
  '\.n_features\b' '.num_features'
  '->n_features\b' '->num_features'
  '\.n_buckets\b' '.num_buckets'
  '\.n_bins\b' '.num_bins'
  '\bn_bins\(\)' 'num_bins()'
  '\.n_per_group\b' '.num_per_group'
  '\bnode_count\(\)' 'num_nodes()'
  # fitting a model is a free fit_<model>
  '\bals_model::fit\(' 'fit_als('
  '\bpopularity_model::fit\(' 'fit_popularity('
  '\bcovisitation_model::fit\(' 'fit_covisitation('
  '\breference_profile::fit\(' 'fit_reference_profile('
  '\btrain_gbdt\b' 'fit_gbdt'
  '\bgbdt_result\b' 'gbdt_fit'
  '\blogistic_model::from_sklearn_json\b' 'from_sklearn_json'
  # moved
  '(funnel::)?pipeline::detail::thread_cpu_us\b' 'funnel::thread_cpu_us'
  '\bmargins_checked\(' 'margins('
  '\brerank::rule_name\(' 'to_string('
  '\bretrieval::recall_at_k\b' 'metrics::recall_at_k'
)

# Error ids in string literals ("<kind>.<old>" -> "<kind>.<module>.<component>"), where the old id
# names one component. Ids that named a whole module ("invalid_argument.bandits", ".features",
# ".experiments") depend on the component at fault: they are listed for a person instead.
ids=(
  csv core.csv json core.json gzip core.gzip idx core.idx libsvm core.libsvm fvecs core.fvecs
  ivecs core.ivecs bvecs core.bvecs matrix core.matrix matrix_view core.matrix_view
  read core.read_file write core.write_file_atomic rng.set_state core.rng
  xgboost scoring.xgboost lightgbm scoring.lightgbm gbdt scoring.gbdt
  tree_ensemble scoring.tree_ensemble tree scoring.tree ftrl_logistic scoring.ftrl_logistic
  logistic_regression scoring.logistic_model treeshap scoring.tree_explainer
  als retrieval.als_model popularity retrieval.popularity_model
  covisitation retrieval.covisitation_model hnsw_index retrieval.hnsw_index
  exact_index retrieval.exact_index id_map retrieval.id_map interaction_log retrieval.interaction_log
  recall_at_k metrics.recall_at_k hnsw_index.sq8 retrieval.sq8 drift.kstwo stats.kstwo
  bucketing experiments.bucketer stats stats.special_functions
  pipeline_config pipeline.config stage_registry pipeline.stage_registry
  model_registry pipeline.model_registry pipeline pipeline.basic_pipeline
  roc_auc metrics.roc_auc log_loss metrics.log_loss brier_score metrics.brier_score
  average_precision metrics.average_precision best_threshold metrics.best_threshold
  calibration_curve metrics.calibration_curve evaluate_ranking metrics.evaluate_ranking
  isotonic_calibrator metrics.isotonic_calibrator platt_calibrator metrics.platt_calibrator
)
kinds='(parse_error|invalid_argument|dimension_mismatch|io_error|not_found|unsupported|not_fitted)'
for ((i = 0; i < ${#ids[@]}; i += 2)); do
  renames+=("\"$kinds\.${ids[i]//./\\.}\"" "\"\$1.${ids[i + 1]}\"")
done

# Names a script cannot decide: reported with their line for a person to fix.
ambiguous='\b(Retriever|Filter|Reranker|any_reranker|ExplorationPolicy|component)\b|'
ambiguous+='\.(params|config|margin|probability)\(\)|\bn_features\(\)|'
ambiguous+='\b(one_hot|ordinal_encoder|count_encoder|target_encoder|feature_hasher|hashed_cross|'
ambiguous+='numeric_column|interaction|sliding_window|group_cap|group_decay|freshness|explore_slots)'
ambiguous+=' *(<[^>]*>)? *([a-z_][a-z0-9_]* *)?[({][^,)}]*,[^)}]|'
ambiguous+='hnsw_index::load\([^)]*,|interaction_log::from_csv|'
ambiguous+='\bpolicy_kind_from_string\b|\brule_name\b|isotonic_calibrator.*\.fit\(|'
ambiguous+='\b(adwin|page_hinkley|ddm|msprt|bucketer) *[({][^)}]|std::vector<int>|std::span<const int>|'
ambiguous+='"(parse_error|invalid_argument|dimension_mismatch|io_error|not_found|unsupported)\.(bandits|features|experiments)"'

mapfile -t files < <(find "$@" -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \
  -o -name '*.cc' -o -name '*.cxx' -o -name '*.hh' \) | sort)
changed=0
for f in "${files[@]}"; do
  script=''
  for ((i = 0; i < ${#renames[@]}; i += 2)); do
    script+="s/${renames[i]}/${renames[i + 1]}/g; "
  done
  new=$(perl -pe "$script" "$f")
  if [[ $new != "$(cat "$f")" ]]; then
    changed=$((changed + 1))
    if ((check)); then
      diff <(cat "$f") <(printf '%s\n' "$new") | sed "s|^|$f: |" || true
    else
      printf '%s\n' "$new" > "$f.upgrade-tmp" && mv "$f.upgrade-tmp" "$f"
    fi
  fi
done
echo "upgrade-0.2: ${#files[@]} files read, $changed $( ((check)) && echo 'would change' || echo changed)"
echo "upgrade-0.2: check by hand (CHANGELOG.md says what each became):"
grep -nE "$ambiguous" "${files[@]}" /dev/null | grep -vE ":[0-9]+: *(//|\*)" | grep -vE 'retrieval::Retriever|rerank::Reranker|rerank::any_reranker|rerank::ExplorationPolicy' || true
