# rpact's side of the binary benchmark: getSimulationRates of a two-arm rates
# design, timed by CPU time one round at a time, so that the caller
# (benchmarks/_rpact.py, rates_side_by_side) can alternate its own rounds
# with rpact's in one run; then rpact's analytic power and sample size.
#
# Usage: Rscript benchmarks/rpact_rates.R key=value ...   (then rounds on stdin)
#   pi1, pi2         treatment and control rates, oriented so that higher is
#                    better (rpact's group 1 is the treatment)
#   subjects         cumulative planned subjects per look, comma-separated
#   kmax             number of looks (1 = fixed design)
#   design           rpact typeOfDesign for kmax > 1 (e.g. asOF)
#   alpha, beta      one-sided level and type II error for the sample size
#   iterations       maxNumberOfIterations of getSimulationRates per round
#   exact            0: normal approximation (the pooled z test at thetaH0 = 0);
#                    1: rpact's exact test (one-sided Fisher, phyper)
#
# Protocol (as rpact_means.R): after loading rpact and one warm-up simulation
# the script prints "ready". Each line read from stdin is a seed: the script
# simulates one round with that seed and prints sim_cpu_s (user + system CPU
# time of this R process, from proc.time()), sim_elapsed_s, sim_iterations,
# sim_power and sim_expected_n, then "end". When stdin closes it prints the
# versions and the analytic values at full precision (*_value) and as rpact
# prints them (*_printed), then exits.

# opts, num, numbers, emit, printed and serve_rounds, from the file beside this one.
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1])), "_rpact_common.R"))

subjects <- numbers("subjects")
kmax <- as.integer(opts[["kmax"]])
exact <- opts[["exact"]] == "1"

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

simulate <- function(iterations, seed) {
  getSimulationRates(
    design = design, groups = 2, pi1 = num("pi1"), pi2 = num("pi2"),
    plannedSubjects = subjects, maxNumberOfIterations = iterations,
    seed = seed, normalApproximation = !exact
  )
}

serve_rounds(simulate, function(sim) {
  emit("sim_power", sim$overallReject[1])
  emit("sim_expected_n", sim$expectedNumberOfSubjects[1])
})

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
