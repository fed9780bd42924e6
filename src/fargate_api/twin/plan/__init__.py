"""Templates in, TwinPlan out: what the twin will build, decided before anything is touched."""
