"""The HMIS: HUD lists and the HMIS CSV import."""
