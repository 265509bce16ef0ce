# lme4 reference fits for simlib.analysis.fit_variance_components (validation only; R is
# never a runtime dependency of Kinerja Lab).
#
# How to regenerate the stored references (Debian/Ubuntu):
#   apt-get update && apt-get install -y r-base-core r-cran-lme4 r-cran-jsonlite
#   .venv/bin/python tests/reference/make_cases.py     # the CSVs and cases.json
#   Rscript benchmarks/lme4_check.R tests/reference     # writes <case>.lme4.json
# then run `pytest tests/test_variance.py -k lme4` and review the diff.
#
# For each case in <dir>/cases.json (csv, response, random, fixed; a random entry that is
# a list of columns is their interaction, written a:b as lme4 does) this fits
#   response ~ fixed + (1 | f1) + (1 | f2) + ...       by REML,
# with text columns as factors (levels sorted in C locale, treatment contrasts, as the
# Python side does), and writes the variance components, fixed effects with standard
# errors, REMLcrit, theta, every conditional mode with its conditional SD
# (ranef(condVar = TRUE)) and profile-likelihood 95 % intervals of the standard deviations
# (confint(method = "profile")) to <dir>/<case>.lme4.json.

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[[1]] else "tests/reference"
cases <- fromJSON(file.path(dir, "cases.json"), simplifyVector = FALSE)

for (name in names(cases)) {
  case <- cases[[name]]
  data <- read.csv(file.path(dir, case$csv), stringsAsFactors = FALSE)
  for (col in names(data)) {
    if (is.character(data[[col]])) {
      data[[col]] <- factor(data[[col]], levels = sort(unique(data[[col]]), method = "radix"))
    }
  }
  random_terms <- vapply(case$random, function(r) {
    paste0("(1 | ", paste(unlist(r), collapse = ":"), ")")
  }, character(1))
  fixed <- unlist(case$fixed)
  rhs <- paste(c(if (length(fixed)) fixed else "1", random_terms), collapse = " + ")
  formula <- as.formula(paste(case$response, "~", rhs))
  control <- lmerControl(
    optimizer = "bobyqa",
    optCtrl = list(rhobeg = 0.2, rhoend = 1e-10, maxfun = 1e5),
    check.conv.singular = "ignore"
  )
  fit <- lmer(formula, data = data, REML = TRUE, control = control)

  vc <- as.data.frame(VarCorr(fit))
  components <- lapply(seq_len(nrow(vc)), function(i) {
    list(component = if (vc$grp[i] == "Residual") "residual" else vc$grp[i],
         variance = vc$vcov[i], sd = vc$sdcor[i])
  })
  fe <- summary(fit)$coefficients
  fixed_effects <- lapply(seq_len(nrow(fe)), function(i) {
    list(term = rownames(fe)[i], estimate = fe[i, "Estimate"], se = fe[i, "Std. Error"])
  })
  re <- ranef(fit, condVar = TRUE)
  modes <- list()
  for (grp in names(re)) {
    post <- attr(re[[grp]], "postVar")
    modes[[grp]] <- list(
      level = rownames(re[[grp]]),
      estimate = unname(re[[grp]][, 1]),
      se = sqrt(as.numeric(post[1, 1, ]))
    )
  }
  # Profile-likelihood 95 % intervals of the standard deviations (lme4 interpolates the
  # profile with splines, so its endpoints carry a small interpolation error).
  # Profiling works on a copy: it moves the fitted object's internal state.
  refit <- lmer(formula, data = data, REML = TRUE, control = control)
  prof <- suppressWarnings(confint(refit, parm = "theta_", method = "profile",
                                   oldNames = FALSE, level = 0.95))
  intervals <- lapply(seq_len(nrow(prof)), function(i) {
    name <- rownames(prof)[i]
    comp <- if (name == "sigma") "residual" else sub("^sd_\\(Intercept\\)\\|", "", name)
    list(component = comp, sd_low = unname(prof[i, 1]), sd_high = unname(prof[i, 2]))
  })
  out <- list(
    case = name,
    formula = paste(deparse(formula), collapse = " "),
    lme4_version = as.character(packageVersion("lme4")),
    r_version = R.version.string,
    optimizer = "bobyqa, rhoend = 1e-10",
    n_obs = nobs(fit),
    reml_criterion = unname(REMLcrit(fit)),
    theta = unname(getME(fit, "theta")),
    theta_names = names(getME(fit, "theta")),
    sigma = sigma(fit),
    components = components,
    fixed_effects = fixed_effects,
    profile_intervals = intervals,
    conditional_modes = modes
  )
  path <- file.path(dir, paste0(name, ".lme4.json"))
  writeLines(toJSON(out, auto_unbox = TRUE, digits = I(15), pretty = TRUE), path)
  cat(sprintf("%s: REMLcrit %.6f -> %s\n", name, REMLcrit(fit), path))
}
