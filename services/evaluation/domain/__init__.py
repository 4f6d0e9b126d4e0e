"""The evaluation domain: people and teams, periods, visit cards, ratings, scoring,
goals and improvement plans. Standard library only."""
