"""Models and the service functions that change them: no Flask request, no blueprints.

Service functions validate, change rows and flush; they never commit. The caller (a request
or a worker job) commits once, and side effects that must not be lost go through the outbox.
"""
