"""Running the day: the steps shared by Airflow and `kindling run`, backfill, Spark sessions and spark-submit, the JVM jars."""
