"""The statistics core (being assembled; see docs/how-it-works.md)."""
