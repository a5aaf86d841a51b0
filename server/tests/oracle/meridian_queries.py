#!/usr/bin/env python3
"""Meridian's query catalogue for the differential oracle (see SOURCE.txt).

Same format as the shared sample catalogue: a module-level list ``Q`` built with
``inst(id, expr, at=...)`` and ``rng(id, expr, start=..., end=..., step=...)``; times are
seconds relative to the dataset's T0 (gen_openmetrics.py: 2023-11-14T20:00:00Z, 3 h of data
at 15 s). Expressions that need an absolute time (``@ <unix time>``) use ``abs_t()``.

Dataset landmarks (minutes after T0):
  * http_requests_total resets: globex/i-2 (4 series) at 40 and 130, acme/i-1/POST/200 at 95
  * up: initech/i-2 has no samples in [60, 80) (last sample 59:45, next 80:00);
        globex/i-1 is 0 in [100, 110)
  * classic histogram http_request_duration_seconds_{bucket,count,sum}, le in
    0.05 0.1 0.25 0.5 1 2.5 5 +Inf, per tenant x instance
  * tenant_quota_requests_per_second: 100/200/300 per tenant (constant)

Rules kept here:
  * ids are unique snake_case; only ids whose *instant* result order is defined contain
    "sort", "topk" or "bottomk" (compare_answers.py then also compares the order), so grouped
    topk/bottomk (order of the groups is an engine detail) are named k_largest/k_smallest.
  * only functions available in Prometheus 2.42 (no mad_over_time, sort_by_label, limitk, ...).
  * subqueries without a step (``[30m:]``) use the engine's default step: Prometheus takes
    the global evaluation_interval (1h in oracle.sh's config), Meridian its own default,
    so those queries are written so that any default step of at most 1h gives the same answer.
"""

M = 60
H = 3600
T0 = 1699992000          # gen_openmetrics.T0
DURATION = 3 * H         # gen_openmetrics.DURATION

Q = []


def inst(qid, expr, at=150 * M):
    Q.append({"id": qid, "kind": "instant", "expr": expr, "at": at})


def rng(qid, expr, start=10 * M, end=170 * M, step="60s"):
    Q.append({"id": qid, "kind": "range", "expr": expr, "start": start, "end": end, "step": step})


def abs_t(rel):
    """Absolute unix time (for `@`) of a time relative to T0."""
    return str(T0 + rel)


GX2 = 'http_requests_total{tenant="globex",instance="i-2"}'                       # resets at 40m, 130m
ACME_POST = 'http_requests_total{tenant="acme",instance="i-1",method="POST",code="200"}'  # reset at 95m
UP_GAP = 'up{tenant="initech",instance="i-2"}'                                    # no samples 60m..80m
UP_DOWN = 'up{tenant="globex",instance="i-1"}'                                    # 0 in 100m..110m
BUCKETS = "http_request_duration_seconds_bucket"

# ---------------------------------------------------------------- selectors
inst("sel_raw_equal", 'http_requests_total{tenant="acme",instance="i-1"}')
inst("sel_neq_regex", 'http_requests_total{code!="200",method=~"G.*"}')
inst("sel_not_regex", 'node_memory_usage_bytes{tenant!~"acme|globex"}')
inst("sel_regex_anchored_empty", 'up{tenant=~"acm"}')
inst("sel_name_regex", '{__name__=~"http_request_duration_seconds_(count|sum)",tenant="initech"}')
inst("sel_range_matrix_instant", 'up{tenant="acme",instance="i-1"}[1m]')

# ---------------------------------------------------------------- rate family across resets
inst("rate_5m_all", "rate(http_requests_total[5m])")
inst("rate_5m_across_reset_41m", f"rate({GX2}[5m])", at=41 * M)
inst("rate_5m_at_reset_sample_40m", f"rate({GX2}[5m])", at=40 * M)
inst("rate_10m_across_second_reset_135m", f"rate({GX2}[10m])", at=135 * M)
inst("rate_5m_near_t0_extrapolation", "rate(http_requests_total[5m])", at=2 * M)
inst("irate_at_reset_40m", f"irate({GX2}[1m])", at=40 * M)
inst("irate_after_reset_40m15s", f"irate({GX2}[1m])", at=40 * M + 15)
inst("increase_across_reset_acme_96m", f"increase({ACME_POST}[5m])", at=96 * M)
inst("increase_2h_spanning_reset", f"increase({GX2}[2h])", at=150 * M)
inst("delta_counter_across_reset_41m", f"delta({GX2}[5m])", at=41 * M)
inst("delta_gauge_temperature", "delta(room_temperature_celsius[10m])")
inst("idelta_at_reset_130m", f"idelta({GX2}[1m])", at=130 * M)
inst("idelta_memory", "idelta(node_memory_usage_bytes[1m])")
inst("deriv_memory_10m", "deriv(node_memory_usage_bytes[10m])")
inst("deriv_counter_across_reset_96m", f"deriv({ACME_POST}[10m])", at=96 * M)
inst("resets_1h", "resets(http_requests_total[1h])")
inst("resets_full_3h_at_end", "resets(http_requests_total[3h])", at=DURATION)
inst("changes_up_full", "changes(up[3h])", at=DURATION)
inst("changes_memory_10m", "changes(node_memory_usage_bytes[10m])")
inst("predict_linear_memory_1h", "predict_linear(node_memory_usage_bytes[30m], 3600)")
inst("predict_linear_counter_across_reset", f"predict_linear({GX2}[10m], 600)", at=135 * M)
inst("holt_winters_memory", "holt_winters(node_memory_usage_bytes[30m], 0.5, 0.5)")
inst("holt_winters_temperature", "holt_winters(room_temperature_celsius[1h], 0.3, 0.7)")
rng("r_rate_across_first_reset", f"rate({GX2}[5m])", start=30 * M, end=50 * M, step="1m")
rng("r_increase_across_acme_reset", f"increase({ACME_POST}[2m])", start=90 * M, end=100 * M, step="30s")
rng("r_irate_across_second_reset", f"irate({GX2}[1m])", start=125 * M, end=135 * M, step="15s")
rng("r_resets_10m", "resets(http_requests_total[10m])", start=0, end=DURATION, step="5m")
rng("r_deriv_counter_reset", f"deriv({GX2}[5m])", start=35 * M, end=45 * M, step="1m")
rng("r_sum_rate_by_tenant", "sum by (tenant) (rate(http_requests_total[5m]))")

# ---------------------------------------------------------------- classic histograms
HQ_RATE = f"rate({BUCKETS}[5m])"
inst("hq_0", f"histogram_quantile(0, sum by (le) ({HQ_RATE}))")
inst("hq_1", f"histogram_quantile(1, sum by (le) ({HQ_RATE}))")
inst("hq_0_5", f"histogram_quantile(0.5, sum by (le) ({HQ_RATE}))")
inst("hq_0_99", f"histogram_quantile(0.99, sum by (le) ({HQ_RATE}))")
inst("hq_0_9_by_tenant", f"histogram_quantile(0.9, sum by (le, tenant) ({HQ_RATE}))")
inst("hq_0_75_per_series", f"histogram_quantile(0.75, {HQ_RATE})")
inst("hq_above_one_inf", f"histogram_quantile(1.5, sum by (le) ({HQ_RATE}))")
inst("hq_negative_minus_inf", f"histogram_quantile(-0.5, sum by (le, tenant) ({HQ_RATE}))")
inst("hq_raw_cumulative_buckets", f'histogram_quantile(0.5, {BUCKETS}{{tenant="globex"}})')
inst("hq_all_zero_nan", f'histogram_quantile(0.5, {BUCKETS}{{tenant="acme"}} * 0)')
inst("hq_without_le_dropped", f"histogram_quantile(0.5, sum by (tenant) ({HQ_RATE}))")
inst("hist_avg_latency_by_tenant",
     "sum by (tenant) (rate(http_request_duration_seconds_sum[5m]))"
     " / sum by (tenant) (rate(http_request_duration_seconds_count[5m]))")
rng("r_hq_0_95_by_tenant", f"histogram_quantile(0.95, sum by (le, tenant) ({HQ_RATE}))",
    start=0, end=DURATION, step="10m")

# ---------------------------------------------------------------- aggregations
inst("agg_sum_all", "sum(http_requests_total)")
inst("agg_sum_by_tenant_code", "sum by (tenant, code) (rate(http_requests_total[5m]))")
inst("agg_sum_without_method_code", "sum without (method, code) (rate(http_requests_total[5m]))")
inst("agg_avg_by_tenant", "avg by (tenant) (node_memory_usage_bytes)")
inst("agg_min_max_by_instance", "max by (instance) (node_memory_usage_bytes) - min by (instance) (node_memory_usage_bytes)")
inst("agg_count_without_le", f"count without (le) ({BUCKETS})")
inst("agg_group_by_tenant_job", "group by (tenant, job) ({__name__=~\"up|node_memory_usage_bytes\"})")
inst("agg_stddev_by_tenant", "stddev by (tenant) (rate(http_requests_total[5m]))")
inst("agg_stdvar_without_instance", "stdvar without (instance, method, code) (rate(http_requests_total[5m]))")
inst("agg_quantile_0_9_by_tenant", "quantile by (tenant) (0.9, rate(http_requests_total[5m]))")
inst("agg_quantile_out_of_range", "quantile(1.5, node_memory_usage_bytes)")
inst("agg_count_values_up", 'count_values("state", up)', at=105 * M)
inst("agg_count_values_by_tenant", 'count_values by (tenant) ("gb", round(node_memory_usage_bytes / 1e8) / 10)')
inst("agg_count_by_name", 'count by (__name__) ({__name__=~"http_.+"})')
inst("topk_3_rate", "topk(3, rate(http_requests_total[5m]))")
inst("topk_more_than_series", "topk(100, node_memory_usage_bytes)")
inst("bottomk_2_memory", "bottomk(2, node_memory_usage_bytes)")
inst("agg_k_zero_empty", "topk(0, node_memory_usage_bytes)")
inst("k_largest_by_tenant", "topk by (tenant) (1, node_memory_usage_bytes)")
inst("k_smallest_without_instance", "bottomk without (instance) (1, rate(http_requests_total[5m]))")
rng("r_k_largest_1_memory", "topk(1, node_memory_usage_bytes)", start=0, end=DURATION, step="5m")
rng("r_count_values_up", 'count_values("v", up)', start=95 * M, end=115 * M, step="1m")

# ---------------------------------------------------------------- vector matching / operators
inst("match_group_left_quota",
     "sum by (tenant, instance) (rate(http_requests_total[5m])) / on(tenant) group_left tenant_quota_requests_per_second")
inst("match_group_right_quota",
     "tenant_quota_requests_per_second / on(tenant) group_right sum by (tenant, instance) (rate(http_requests_total[5m]))")
inst("match_group_left_copy_label",
     "http_requests_total / on(tenant, instance) group_left(job) node_memory_usage_bytes")
inst("match_ignoring_group_left", "rate(http_requests_total[5m]) * ignoring(method, code) group_left up")
inst("match_one_to_one_name_dropped",
     "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])")
inst("match_on_empty_with_scalar_like", "node_memory_usage_bytes / on() group_left sum(tenant_quota_requests_per_second)")
inst("set_and_on_tenant", "node_memory_usage_bytes and on(tenant) (tenant_quota_requests_per_second > 150)")
inst("set_or_fills_gap", f"{UP_GAP} or on(tenant, instance) ({UP_GAP} offset 30m)", at=70 * M)
inst("set_or_vector_zero", f'sum(up{{tenant="nobody"}}) or vector(0)')
inst("set_unless_down", "up unless on(tenant, instance) (up == 0)", at=105 * M)
inst("set_and_unmatched_empty", 'up and on(tenant) tenant_quota_requests_per_second{tenant="nobody"}')
inst("cmp_filter_keeps_name", "up == 0", at=105 * M)
inst("cmp_bool_drops_name", "up == bool 0", at=105 * M)
inst("cmp_vector_vs_vector", "node_memory_usage_bytes > on(tenant) group_left tenant_quota_requests_per_second * 1e7")
inst("cmp_gt_scalar", "node_memory_usage_bytes > 2e9")
inst("cmp_gt_bool_scalar", "node_memory_usage_bytes > bool 2e9")
inst("cmp_scalar_bool_scalar", "1 < bool 2")
inst("arith_vector_scalar_chain", "node_memory_usage_bytes / 1024 / 1024")
inst("arith_scalar_minus_vector", "1 - up", at=105 * M)
inst("arith_mod_pow_neg", "-(room_temperature_celsius % 7) ^ 2")
inst("arith_atan2", "room_temperature_celsius atan2 on(tenant) tenant_quota_requests_per_second")
inst("arith_div_by_zero_inf", "up / 0", at=105 * M)
inst("prec_mul_pow", "2 * 3 ^ 2")
inst("prec_unary_minus_pow", "-2 ^ 2")
inst("prec_pow_right_assoc", "2 ^ 3 ^ 2")
inst("prec_sub_left_assoc", "10 - 4 - 3")
inst("prec_mixed", "1 + 2 * 3 - 8 / 4 % 3")
inst("prec_cmp_after_arith", "sum(up) + 1 > bool 6")
rng("r_match_group_left_quota",
    "sum by (tenant) (rate(http_requests_total[5m])) / on(tenant) group_left tenant_quota_requests_per_second",
    start=30 * M, end=150 * M, step="10m")
rng("r_cmp_filter_down", "up == 0", start=95 * M, end=115 * M, step="1m")

# ---------------------------------------------------------------- subqueries, @, offset
inst("subq_max_rate", 'max_over_time(rate(http_requests_total{tenant="acme"}[5m])[30m:1m])')
inst("subq_step_not_aligned_to_t0", "count_over_time(node_memory_usage_bytes[1h:13m])")
inst("subq_default_step_const", "max_over_time(tenant_quota_requests_per_second[1h:])")
inst("subq_default_step_sum_const", "avg_over_time(sum(tenant_quota_requests_per_second)[30m:])")
inst("subq_nested",
     'max_over_time(deriv(rate(http_requests_total{tenant="globex"}[5m])[10m:1m])[30m:5m])')
inst("subq_offset", f"avg_over_time(rate({GX2}[5m])[30m:1m] offset 1h)")
inst("subq_at_numeric", f"max_over_time(rate({GX2}[2m])[10m:30s] @ {abs_t(45 * M)})")
inst("subq_across_up_gap", f"min_over_time({UP_GAP}[30m:1m])", at=85 * M)
rng("r_subq_max_rate", f"max_over_time(rate({ACME_POST}[2m])[10m:1m])", start=85 * M, end=110 * M, step="5m")
inst("at_numeric_instant", f"up @ {abs_t(105 * M)}")
inst("at_numeric_fractional", f"room_temperature_celsius @ {abs_t(60 * M)}.5")
inst("at_start_end_instant", "rate(http_requests_total[5m] @ end()) - rate(http_requests_total[5m] @ start())")
inst("at_with_offset", f"node_memory_usage_bytes @ {abs_t(120 * M)} offset 30m")
inst("at_before_data_empty", f"up @ {abs_t(-10 * M)}")
rng("r_at_start", "node_memory_usage_bytes @ start()", start=30 * M, end=60 * M, step="5m")
rng("r_at_end_rate", f"rate({GX2}[5m] @ end())", start=30 * M, end=45 * M, step="5m")
rng("r_at_numeric", f"{UP_DOWN} @ {abs_t(105 * M)}", start=0, end=30 * M, step="10m")
inst("offset_1h", 'up{tenant="globex"} offset 1h')
inst("offset_negative", "room_temperature_celsius offset -10m")
inst("offset_negative_rate", "rate(http_requests_total[5m] offset -1h)", at=60 * M)
inst("offset_past_data_empty", "up offset 4h")
rng("r_offset_negative", f"{UP_DOWN} offset -10m", start=85 * M, end=105 * M, step="1m")

# ---------------------------------------------------------------- gaps, staleness, absence
inst("gap_instant_inside_absent", 'up{tenant="initech"}', at=70 * M)
inst("gap_lookback_exact_edge", UP_GAP, at=64 * M + 45)        # last sample 59:45 + 5m: still there
inst("gap_lookback_just_after", UP_GAP, at=64 * M + 46)        # ... gone
inst("gap_timestamp_of_stale_lookup", 'timestamp(up{tenant="initech"})', at=62 * M)
rng("r_gap_up_across", UP_GAP, start=55 * M, end=90 * M, step="1m")
rng("r_gap_count_over_time", f"count_over_time({UP_GAP}[10m])", start=55 * M, end=95 * M, step="5m")
inst("absent_gap_labels", f"absent({UP_GAP})", at=70 * M)
inst("absent_present_empty", f"absent({UP_GAP})")
inst("absent_regex_no_labels", 'absent(nonexistent_metric{job="x",tenant=~"a.*"})')
inst("absent_of_aggregate", 'absent(sum(nonexistent_metric{job="x"}))')
rng("r_absent_gap", f"absent({UP_GAP})", start=55 * M, end=90 * M, step="1m")
inst("absent_over_time_gap", f"absent_over_time({UP_GAP}[10m])", at=75 * M)
inst("absent_over_time_covered_empty", f"absent_over_time({UP_GAP}[30m])", at=75 * M)
inst("present_over_time_gap", "present_over_time(up[10m])", at=70 * M)
inst("count_over_time_across_gap", "count_over_time(up[30m])", at=80 * M)
inst("last_over_time_across_gap", f"last_over_time({UP_GAP}[30m])", at=75 * M)
rng("r_absent_over_time_gap", f"absent_over_time({UP_GAP}[5m])", start=55 * M, end=90 * M, step="1m")

# ---------------------------------------------------------------- range / time edges
inst("edge_window_aligned_1m", 'count_over_time(up{tenant="acme"}[1m])')           # 5 samples (closed window)
inst("edge_window_unaligned_1m", 'count_over_time(up{tenant="acme"}[1m])', at=150 * M + 7)
inst("edge_rate_1m_aligned", "rate(http_requests_total[1m])")
inst("edge_rate_1m_unaligned", "rate(http_requests_total[1m])", at=150 * M + 7.5)
inst("edge_instant_at_t0", "up", at=0)
inst("edge_rate_at_t0_empty", "rate(http_requests_total[5m])", at=0)
inst("edge_count_over_time_at_t0", "count_over_time(node_memory_usage_bytes[5m])", at=0)
inst("edge_instant_at_end", "http_requests_total", at=DURATION)
inst("edge_lookback_after_end", "tenant_quota_requests_per_second", at=DURATION + 5 * M)
inst("edge_lookback_after_end_empty", "tenant_quota_requests_per_second", at=DURATION + 5 * M + 1)
inst("edge_before_t0_empty", "up", at=-60)
rng("r_edge_start_unaligned", 'room_temperature_celsius{tenant="acme"}', start=10 * M + 7, end=20 * M, step="1m")
rng("r_edge_step_not_dividing", "sum(up)", start=0, end=1000, step="7m")
rng("r_edge_before_and_after_data", 'up{tenant="acme",instance="i-1"}', start=-10 * M, end=DURATION + 10 * M, step="2m")
rng("r_edge_step_float_seconds", 'node_memory_usage_bytes{tenant="globex"}', start=60 * M, end=62 * M, step="7.5")
rng("r_edge_step_numeric", "sum by (tenant) (up)", start=0, end=30 * M, step="90")

# ---------------------------------------------------------------- functions
inst("fn_label_replace", 'label_replace(up, "host", "$1", "instance", "i-(.*)")')
inst("fn_label_replace_no_match", 'label_replace(up, "host", "$1", "instance", "x-(.*)")')
inst("fn_label_replace_delete_label", 'label_replace(up, "job", "", "job", ".*")')
inst("fn_label_join", 'label_join(node_memory_usage_bytes, "id", "/", "tenant", "instance", "job")')
inst("fn_clamp", "clamp(node_memory_usage_bytes, 1.5e9, 2.5e9)")
inst("fn_clamp_min_gt_max_empty", "clamp(node_memory_usage_bytes, 3e9, 1e9)")
inst("fn_clamp_min", "clamp_min(delta(room_temperature_celsius[10m]), 0)")
inst("fn_clamp_max", "clamp_max(room_temperature_celsius, 22)")
inst("fn_round", "round(room_temperature_celsius)")
inst("fn_round_to_nearest", "round(room_temperature_celsius, 0.25)")
inst("fn_abs_ceil_floor", "abs(delta(room_temperature_celsius[30m])) + ceil(room_temperature_celsius) - floor(room_temperature_celsius)")
inst("fn_sqrt_ln_exp", "sqrt(room_temperature_celsius) + ln(room_temperature_celsius) + exp(room_temperature_celsius / 10)")
inst("fn_ln_negative_nan", "ln(-room_temperature_celsius)")
inst("fn_log2_log10", "log2(node_memory_usage_bytes) - log10(node_memory_usage_bytes)")
inst("fn_sgn", "sgn(deriv(room_temperature_celsius[10m]))")
inst("fn_trig", "sin(room_temperature_celsius) + cos(room_temperature_celsius) + deg(atan(room_temperature_celsius))")
inst("fn_timestamp", "timestamp(up)", at=150 * M + 7)
inst("fn_vector_time", "vector(time())")
inst("fn_scalar_single", 'scalar(sum(up{tenant="acme"}))')
inst("fn_scalar_multi_nan", "scalar(up)")
inst("fn_scalar_in_arith", "node_memory_usage_bytes / scalar(sum(tenant_quota_requests_per_second))")
inst("fn_time", "time()")
inst("fn_pi", "pi()")
inst("sort_memory", "sort(node_memory_usage_bytes)")
inst("sort_desc_rate", "sort_desc(rate(http_requests_total[5m]))")
inst("fn_date_hour_default", "hour()", at=0)
inst("fn_date_of_timestamps", "hour(timestamp(up)) * 100 + minute(timestamp(up))", at=75 * M)
inst("fn_day_of_week_month_year",
     "day_of_week() * 1e6 + day_of_month() * 1e4 + month() * 1e2 + days_in_month() + year() * 1e8", at=170 * M)
inst("fn_minute_vector", f"minute(vector({abs_t(37 * M)}))")
inst("ot_avg", "avg_over_time(node_memory_usage_bytes[10m])")
inst("ot_min_max", "max_over_time(room_temperature_celsius[1h]) - min_over_time(room_temperature_celsius[1h])")
inst("ot_sum_count", "sum_over_time(up[1h]) / count_over_time(up[1h])", at=115 * M)
inst("ot_last", "last_over_time(room_temperature_celsius[10m])", at=150 * M + 7)
inst("ot_quantile", "quantile_over_time(0.9, node_memory_usage_bytes[30m])")
inst("ot_quantile_out_of_range", "quantile_over_time(-1, room_temperature_celsius[5m])")
inst("ot_stddev_stdvar", "stddev_over_time(room_temperature_celsius[30m]) + stdvar_over_time(room_temperature_celsius[30m])")
inst("ot_present", 'present_over_time(node_memory_usage_bytes{tenant="acme"}[1m])')
rng("r_fn_timestamp", 'timestamp(up{tenant="initech"})', start=55 * M, end=85 * M, step="5m")
rng("r_fn_time_scalar", "time()", start=0, end=30 * M, step="5m")
rng("r_fn_vector_scalar", 'vector(1) + scalar(sum(up{tenant="initech"}))', start=55 * M, end=85 * M, step="5m")
rng("r_ot_avg_memory", "avg_over_time(node_memory_usage_bytes[15m])", start=0, end=DURATION, step="15m")

# ---------------------------------------------------------------- errors (only errorType compared)
inst("err_parse_unclosed", "sum(rate(http_requests_total[5m])")
inst("err_parse_unknown_function", "no_such_function(up)")
inst("err_parse_bad_regex", 'up{tenant=~"("}')
inst("err_parse_empty_matchers", '{tenant=~".*"}')
inst("err_parse_scalar_cmp_without_bool", "1 < 2")
inst("err_parse_set_op_on_scalars", "1 and 2")
inst("err_type_rate_of_instant", "rate(up)")
inst("err_type_sum_of_range", "sum(up[5m])")
inst("err_type_string_quantile", 'histogram_quantile("a", http_request_duration_seconds_bucket)')
inst("err_wrong_arg_count", 'label_replace(up, "a")')
rng("err_range_query_of_range_vector", "up[5m]", start=0, end=30 * M, step="1m")
rng("err_range_end_before_start", "up", start=30 * M, end=10 * M, step="1m")
rng("err_range_too_many_points", "up", start=0, end=DURATION, step="0.5")
inst("err_many_to_many_on", "http_requests_total + on(tenant) http_requests_total")
inst("err_group_left_one_side_not_unique", "up * on(tenant) group_left node_memory_usage_bytes")
inst("err_dup_labelset_after_name_drop", 'abs({__name__=~"http_request_duration_seconds_(count|sum)"})')
inst("err_dup_labelset_rate_or",
     'rate({__name__=~"http_request_duration_seconds_(count|sum)"}[5m]) or rate(http_requests_total[5m])')
rng("err_range_dup_labelset", 'abs({__name__=~"http_request_duration_seconds_(count|sum)"})',
    start=0, end=30 * M, step="5m")
inst("err_dup_labelset_label_replace", 'label_replace(up, "instance", "x", "instance", ".*")')
inst("err_holt_winters_bad_factor", "holt_winters(node_memory_usage_bytes[10m], 1.5, 0.5)")
inst("err_count_values_bad_label", 'count_values("not a label", up)')


def _check():
    import re
    ids = [q["id"] for q in Q]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for i in ids:
        assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", i), i


_check()
