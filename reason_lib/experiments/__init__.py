"""One module per experiment: what its notebook saves as metrics (the schema `summary` and
`results` read back) and the tables it shows, each built by a tested function rather than in a
notebook cell."""
