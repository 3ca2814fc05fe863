"""The fix planner: rules say what should change and why (an intent); the planner checks it against the
environment's constraints, read offline from installed metadata, and makes the command (see plan.py);
prove.py applies a planned change to an overlay and re-runs the failing import before it is offered as
proven."""
from .plan import Intent, Plan, fixes_for, install_fix, make_fix, plan, plan_of, repair_intents  # noqa: F401
