# rpact's side of the continuous benchmark: getSimulationMeans of a two-arm
# difference of means, timed by CPU time, one round at a time, so that the
# caller (benchmarks/_rpact.py, means_side_by_side) can alternate its own
# rounds with rpact's in one run.
#
# Usage: Rscript benchmarks/rpact_means.R key=value ...   (then rounds on stdin)
#   alternative      difference of means, treatment - control (higher is better)
#   stdev            common standard deviation
#   subjects         cumulative planned subjects per look, comma-separated
#   kmax             number of looks (1 = fixed design)
#   design           rpact typeOfDesign for kmax > 1 (e.g. asOF)
#   alpha            one-sided level
#   iterations       maxNumberOfIterations of getSimulationMeans per round
#   normal           0: Student's t (normalApproximation = FALSE); 1: z
#
# Protocol: after loading rpact and one warm-up simulation the script prints
# "ready". Each line read from stdin is a seed: the script simulates one round
# with that seed and prints sim_cpu_s (user + system CPU time of this R
# process, from proc.time()), sim_elapsed_s, sim_power and sim_expected_n,
# then "end". When stdin closes it prints the versions, the critical values
# and getPowerMeans' power at full precision (*_value) and as rpact prints it
# (*_printed), then exits.

# opts, num, numbers, emit, printed and serve_rounds, from the file beside this one.
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1])), "_rpact_common.R"))

subjects <- numbers("subjects")
kmax <- as.integer(opts[["kmax"]])
normal <- opts[["normal"]] == "1"

if (kmax == 1) {
  design <- getDesignGroupSequential(kMax = 1, alpha = num("alpha"), sided = 1)
} else {
  # Bounds at the realised information fractions, as the simulator applies them.
  design <- getDesignGroupSequential(
    kMax = kmax, alpha = num("alpha"), sided = 1,
    typeOfDesign = opts[["design"]], informationRates = subjects / subjects[kmax]
  )
}

simulate <- function(iterations, seed) {
  getSimulationMeans(
    design = design, groups = 2, alternative = num("alternative"), stDev = num("stdev"),
    plannedSubjects = subjects, maxNumberOfIterations = iterations,
    normalApproximation = normal, seed = seed
  )
}

serve_rounds(simulate, function(sim) {
  emit("sim_power", sim$overallReject[1])
  emit("sim_expected_n", sim$expectedNumberOfSubjects[1])
})

emit("critical_values", design$criticalValues)
power <- getPowerMeans(
  design = design, groups = 2, alternative = num("alternative"), stDev = num("stdev"),
  maxNumberOfSubjects = subjects[kmax], normalApproximation = normal
)
emit("power_value", power$overallReject[1])
emit("power_printed", printed(power, "Overall reject"))
if (kmax > 1) {
  emit("expected_n_value", power$expectedNumberOfSubjects[1])
  emit("expected_n_printed", printed(power, "Expected number of subjects"))
}
