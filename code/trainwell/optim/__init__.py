"""Part IV, optimization: the optimizers from SGD to NAdam, one file per optimizer as in
``torch/optim`` (section `part-optimization`). Not written yet: this is their place."""
