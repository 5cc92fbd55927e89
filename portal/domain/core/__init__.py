"""The shared core every feature stands on: the database session, the clock, audit,
errors, validation, encryption, tokens, the acting context, jobs, the mail outbox, the
sanitiser and the staff role table. Nothing here imports a feature.
"""
