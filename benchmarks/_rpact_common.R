# What the rpact scripts of the benchmark share (sourced by rpact_rates.R,
# rpact_survival.R and rpact_means.R): their key=value arguments, the output
# format, the text rpact prints for a value, and the protocol of the timed
# rounds with benchmarks/_rpact.py (alternate_with_rpact).

suppressMessages(library(rpact))

args <- commandArgs(trailingOnly = TRUE)
opts <- list()
for (a in args) {
  kv <- strsplit(a, "=", fixed = TRUE)[[1]]
  opts[[kv[1]]] <- kv[2]
}
num <- function(name) as.numeric(opts[[name]])
numbers <- function(name) as.numeric(strsplit(opts[[name]], ",", fixed = TRUE)[[1]])

# One line "key=value" (a vector comma-separated), at full precision.
emit <- function(key, value) cat(key, "=", paste(format(value, digits = 15), collapse = ","), "\n", sep = "")

# The text rpact prints after "label ... :" in print(obj), as shown to a user.
printed <- function(obj, label) {
  lines <- trimws(capture.output(print(obj)), which = "left")
  rest <- substring(lines, nchar(label) + 1)
  hit <- rest[startsWith(lines, label) & grepl("^\\s*:", rest)]
  if (length(hit) == 0) return("NA")
  trimws(sub("^\\s*:\\s*", "", hit[1]))
}

# CPU time of this R process (user + system).
cpu <- function() {
  t <- proc.time()
  t[["user.self"]] + t[["sys.self"]]
}

# The timed rounds: one warm-up simulation, "ready", then for each seed read
# from stdin one round of `simulate(iterations, seed)`, reported as
# sim_cpu_s, sim_elapsed_s, sim_iterations, what `report(sim)` emits, and
# "end"; when stdin closes, the rpact and R versions.
serve_rounds <- function(simulate, report) {
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
    report(sim)
    cat("end\n")
    flush(stdout())
  }
  close(input)
  emit("rpact_version", as.character(packageVersion("rpact")))
  emit("r_version", paste(R.version$major, R.version$minor, sep = "."))
}
