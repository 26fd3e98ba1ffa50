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

suppressMessages(library(rpact))

args <- commandArgs(trailingOnly = TRUE)
opts <- list()
for (a in args) {
  kv <- strsplit(a, "=", fixed = TRUE)[[1]]
  opts[[kv[1]]] <- kv[2]
}
num <- function(name) as.numeric(opts[[name]])
events <- as.numeric(strsplit(opts[["events"]], ",", fixed = TRUE)[[1]])
kmax <- length(events)

emit <- function(key, value) cat(key, "=", paste(format(value, digits = 15), collapse = ","), "\n", sep = "")

# The text rpact prints after "label ... :" in print(obj), as shown to a user.
# Matched literally: labels such as "Analysis times [2]" hold brackets.
printed <- function(obj, label) {
  lines <- trimws(capture.output(print(obj)), which = "left")
  rest <- substring(lines, nchar(label) + 1)
  hit <- rest[startsWith(lines, label) & grepl("^\\s*:", rest)]
  if (length(hit) == 0) return("NA")
  trimws(sub("^\\s*:\\s*", "", hit[1]))
}
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

cpu <- function() {
  t <- proc.time()
  t[["user.self"]] + t[["sys.self"]]
}

invisible(simulate(100, 1))  # warm-up: first-call costs are not the simulation's
cat("ready\n")
flush(stdout())

iterations <- as.integer(num("iterations"))
input <- file("stdin")
open(input)
while (length(line <- readLines(input, n = 1)) > 0) {
  seed <- as.numeric(trimws(line))
  start_cpu <- cpu()
  start_wall <- proc.time()[["elapsed"]]
  sim <- simulate(iterations, seed)
  emit("sim_cpu_s", cpu() - start_cpu)
  emit("sim_elapsed_s", proc.time()[["elapsed"]] - start_wall)
  emit("sim_iterations", iterations)
  emit("sim_power", sim$overallReject[1])
  emit("sim_reject_per_stage", sim$rejectPerStage[, 1])
  emit("sim_expected_events", sim$expectedNumberOfEvents[1])
  emit("sim_analysis_times", sim$analysisTime[, 1])
  cat("end\n")
  flush(stdout())
}
close(input)

emit("rpact_version", as.character(packageVersion("rpact")))
emit("r_version", paste(R.version$major, R.version$minor, sep = "."))
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
