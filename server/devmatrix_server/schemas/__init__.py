"""Request and response models of the API, one SQLModel family per entity (Base/Create/Update/Public).

Request models forbid unknown fields, so `role` or `team_id` cannot be slipped into a request.
"""
