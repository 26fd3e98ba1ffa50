# rpact's side of the binary benchmark: simulated and analytic power of a
# two-arm rates design, with the time rpact's simulation takes.
#
# Usage: Rscript benchmarks/rpact_rates.R key=value ...
#   pi1, pi2         treatment and control rates, oriented so that higher is
#                    better (rpact's group 1 is the treatment)
#   subjects         cumulative planned subjects per look, comma-separated
#   kmax             number of looks (1 = fixed design)
#   design           rpact typeOfDesign for kmax > 1 (e.g. asOF)
#   alpha, beta      one-sided level and type II error for the sample size
#   iterations       maxNumberOfIterations of getSimulationRates
#   repeats          timed simulations (same seed); the fastest is reported
#   seed             seed of getSimulationRates
#   exact            0: normal approximation (the pooled z test at thetaH0 = 0);
#                    1: rpact's exact test (one-sided Fisher, phyper)
#
# Prints one key=value per line: rpact_version, sim_seconds (best), sim_power,
# sim_iterations, and the analytic values both at full precision (*_value)
# and as rpact prints them (*_printed).

suppressMessages(library(rpact))

args <- commandArgs(trailingOnly = TRUE)
opts <- list()
for (a in args) {
  kv <- strsplit(a, "=", fixed = TRUE)[[1]]
  opts[[kv[1]]] <- kv[2]
}
num <- function(name) as.numeric(opts[[name]])
subjects <- as.numeric(strsplit(opts[["subjects"]], ",", fixed = TRUE)[[1]])
kmax <- as.integer(opts[["kmax"]])
exact <- opts[["exact"]] == "1"

emit <- function(key, value) cat(key, "=", format(value, digits = 15), "\n", sep = "")

# The text rpact prints after "label ... :" in print(obj), as shown to a user.
printed <- function(obj, label) {
  lines <- capture.output(print(obj))
  pattern <- paste0("^\\s*", gsub("([()\\[\\]])", "\\\\\\1", label), "\\s*:\\s*")
  hit <- grep(pattern, lines, value = TRUE, perl = TRUE)
  if (length(hit) == 0) return("NA")
  trimws(sub(pattern, "", hit[1], perl = TRUE))
}

if (kmax == 1) {
  design <- getDesignGroupSequential(kMax = 1, alpha = num("alpha"), beta = num("beta"), sided = 1)
  sizing <- design
} else {
  # Bounds at the realised information fractions (as the simulator applies
  # them); the sample size uses the planned, equally spaced ones.
  design <- getDesignGroupSequential(
    kMax = kmax, alpha = num("alpha"), beta = num("beta"), sided = 1,
    typeOfDesign = opts[["design"]], informationRates = subjects / subjects[kmax]
  )
  sizing <- getDesignGroupSequential(
    kMax = kmax, alpha = num("alpha"), beta = num("beta"), sided = 1, typeOfDesign = opts[["design"]]
  )
}

simulate <- function(iterations) {
  getSimulationRates(
    design = design, groups = 2, pi1 = num("pi1"), pi2 = num("pi2"),
    plannedSubjects = subjects, maxNumberOfIterations = iterations,
    seed = num("seed"), normalApproximation = !exact
  )
}

invisible(simulate(100))  # warm-up: first-call costs are not the simulation's
elapsed <- Inf
for (r in seq_len(as.integer(num("repeats")))) {
  start <- proc.time()[["elapsed"]]
  sim <- simulate(as.integer(num("iterations")))
  elapsed <- min(elapsed, proc.time()[["elapsed"]] - start)
}

emit("rpact_version", as.character(packageVersion("rpact")))
emit("r_version", paste(R.version$major, R.version$minor, sep = "."))
emit("sim_seconds", elapsed)
emit("sim_iterations", as.integer(num("iterations")))
emit("sim_power", sim$overallReject[1])
emit("sim_expected_n", sim$expectedNumberOfSubjects[1])

power <- getPowerRates(
  design = design, groups = 2, pi1 = num("pi1"), pi2 = num("pi2"), maxNumberOfSubjects = subjects[kmax]
)
size <- getSampleSizeRates(design = sizing, groups = 2, pi1 = num("pi1"), pi2 = num("pi2"))
emit("power_value", power$overallReject[1])
emit("power_printed", printed(power, "Overall reject"))
if (kmax == 1) {
  emit("n_value", size$nFixed[1])
  emit("n_printed", printed(size, "Number of subjects fixed"))
} else {
  emit("expected_n_value", power$expectedNumberOfSubjects[1])
  emit("expected_n_printed", printed(power, "Expected number of subjects"))
  emit("n_value", size$maxNumberOfSubjects[1])
  emit("n_printed", printed(size, "Maximum number of subjects"))
}
