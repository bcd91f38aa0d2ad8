"""Part V, putting it together: the ablation and the pitfalls checker (section `part-together`).
The one subpackage that may import the other parts. Not written yet: this is its place."""
