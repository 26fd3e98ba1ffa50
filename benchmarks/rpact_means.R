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
normal <- opts[["normal"]] == "1"

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
  emit("sim_expected_n", sim$expectedNumberOfSubjects[1])
  cat("end\n")
  flush(stdout())
}
close(input)

emit("rpact_version", as.character(packageVersion("rpact")))
emit("r_version", paste(R.version$major, R.version$minor, sep = "."))
emit("critical_values", paste(format(design$criticalValues, digits = 15), collapse = ","))
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
