# rpact's side of the survival benchmark: simulated and analytic power of a
# two-arm log-rank design with exponential survival and uniform accrual, with
# rpact's simulation timed by CPU time one round at a time, so that the
# caller (benchmarks/_rpact.py, survival_side_by_side) can alternate its own
# rounds with rpact's in one run.
#
# Usage: Rscript benchmarks/rpact_survival.R key=value ...   (then rounds on stdin)
#   hr               hazard ratio, treatment / control (rpact's hazardRatio)
#   median2          control median (rpact's group 2 is the control)
#   accrual          uniform accrual time (accrualTime)
#   subjects         maxNumberOfSubjects (1:1)
#   events           cumulative planned events per look, comma-separated
#   design           rpact typeOfDesign for more than one look (e.g. asOF)
#   alpha, beta      one-sided level and type II error for the sample size
#   iterations       maxNumberOfIterations of getSimulationSurvival per round
#
# Direction: rpact's survival simulation defaults to directionUpper = TRUE
# (3.3.4), which rejects for a hazard ratio above 1; a benefit (HR < 1) needs
# directionUpper = FALSE, here for the simulation and the power alike.
# The bounds are at the event fractions (events / events[kMax]), as the
# simulator applies them.
#
# Protocol (as rpact_means.R): after loading rpact and one warm-up simulation
# the script prints "ready". Each line read from stdin is a seed: the script
# simulates one round with that seed and prints sim_cpu_s (user + system CPU
# time of this R process, from proc.time()), sim_elapsed_s, sim_iterations,
# sim_power, sim_reject_per_stage, sim_expected_events and
# sim_analysis_times, then "end". When stdin closes it prints rpact_version,
# the critical values, getPowerSurvival at the given events (power_*) and
# getSampleSizeSurvival for 1 - beta at the given subjects (size_*), the
# analytic values both at full precision (*_value) and as rpact prints them
# (*_printed), then exits.

# opts, num, numbers, emit, printed and serve_rounds, from the file beside this one.
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1])), "_rpact_common.R"))

events <- numbers("events")
kmax <- length(events)

both <- function(obj, key, value, label) {
  emit(paste0(key, "_value"), value)
  emit(paste0(key, "_printed"), printed(obj, label))
}
stage <- function(label, k) if (kmax == 1) label else paste0(label, " [", k, "]")

if (kmax == 1) {
  design <- getDesignGroupSequential(kMax = 1, alpha = num("alpha"), beta = num("beta"), sided = 1)
} else {
  design <- getDesignGroupSequential(
    kMax = kmax, alpha = num("alpha"), beta = num("beta"), sided = 1,
    typeOfDesign = opts[["design"]], informationRates = events / events[kmax]
  )
}
model <- list(median2 = num("median2"), hazardRatio = num("hr"), accrualTime = num("accrual"),
              maxNumberOfSubjects = num("subjects"))

simulate <- function(iterations, seed) {
  do.call(getSimulationSurvival, c(list(
    design = design, directionUpper = FALSE, plannedEvents = events,
    maxNumberOfIterations = iterations, seed = seed
  ), model))
}

serve_rounds(simulate, function(sim) {
  emit("sim_power", sim$overallReject[1])
  emit("sim_reject_per_stage", sim$rejectPerStage[, 1])
  emit("sim_expected_events", sim$expectedNumberOfEvents[1])
  emit("sim_analysis_times", sim$analysisTime[, 1])
})

emit("critical_values", design$criticalValues)

power <- do.call(getPowerSurvival, c(list(design = design, directionUpper = FALSE, maxNumberOfEvents = events[kmax]), model))
both(power, "power", power$overallReject[1], "Overall reject")
both(power, "power_followup", power$followUpTime[1], "Follow up time")
for (k in seq_len(kmax)) both(power, paste0("power_time_", k), power$analysisTime[k, 1], stage("Analysis times", k))
if (kmax > 1) both(power, "power_expected_events", power$expectedNumberOfEvents[1], "Expected number of events")

size <- do.call(getSampleSizeSurvival, c(list(design = design), model))
if (kmax == 1) {
  both(size, "size_events", size$eventsFixed[1], "Number of events")
} else {
  both(size, "size_events", size$maxNumberOfEvents[1], "Maximum number of events")
  both(size, "size_expected_events_h1", size$expectedEventsH1[1], "Expected number of events under H1")
}
both(size, "size_followup", size$followUpTime[1], "Follow up time")
for (k in seq_len(kmax)) both(size, paste0("size_time_", k), size$analysisTime[k, 1], stage("Analysis times", k))
