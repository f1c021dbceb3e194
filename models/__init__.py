"""The zoo: one model file per network (hwgen.train.model_file reads them)."""
