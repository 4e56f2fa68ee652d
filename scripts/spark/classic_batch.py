"""The classic tutorial's Spark job over saved files instead of a socket, for the Spark
benchmark (scripts/spark/bench.sh): lines split on spaces, words starting with '#' kept,
counted with reduceByKey, the top 10 taken. Every line passes through Python, as in the
tutorial. Usage: spark-submit classic_batch.py FILE...
"""
import json
import sys
from operator import add

from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("classic_batch").getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
lines = spark.sparkContext.textFile(",".join(sys.argv[1:]))
top = (lines.flatMap(lambda line: line.split(" "))
       .filter(lambda w: w.startswith("#"))
       .map(lambda w: (w.lower(), 1))
       .reduceByKey(add)
       .takeOrdered(10, key=lambda kv: (-kv[1], kv[0])))
print(json.dumps(top))
spark.stop()
