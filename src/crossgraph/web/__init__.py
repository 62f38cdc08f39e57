"""The web face: pages for people who sign in (/ui) and the CRM sidebar widget (/embed).

A thin layer over the same core as the JSON API (recommend/, intel/, model/): a page renders
what those functions return and never asks the graph itself (ARCHITECTURE.md, Faces)."""
