"""What comes in: reading a day's snapshot from the source, importing edge lists, the topic taxonomy and hashtag mapping."""
