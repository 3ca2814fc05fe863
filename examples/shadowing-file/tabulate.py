# This file is part of the shadowing example (examples/shadowing-file/): a helper of the user's that happens
# to be called tabulate.py. Python finds it in the notebook's folder before the installed tabulate package,
# so 'from tabulate import tabulate' fails. dllmagic's report says so and offers to rename it.
def table(rows):
    return "\n".join(" | ".join(str(cell) for cell in row) for row in rows)
