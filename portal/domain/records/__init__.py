"""The client record: clients, SSN, the access policy and coordinated entry."""
