"""The classic tutorial's Spark Streaming job, written from its description.

A socket source on localhost, 2 s batches, lines split on spaces, words containing '#'
kept, counted across batches with updateStateByKey (checkpointed state), and the top 10
taken with SQL every batch. The tutorial POSTed the top 10 to a Flask page; here each
batch prints one JSON line instead, with the wall time, so the benchmark can time it:
  {"kind":"count","batch":T,"n":records in the batch,"t":wall time}
  {"kind":"top","batch":T,"top":[[tag,count],...],"t":wall time}
(the count line is the one addition: it tells which tweets a leaderboard includes).

Usage: spark-submit spark_job.py PORT CHECKPOINT_DIR
"""
import json
import sys
import time

from pyspark import SparkConf, SparkContext
from pyspark.sql import Row, SparkSession
from pyspark.streaming import StreamingContext

port, checkpoint = int(sys.argv[1]), sys.argv[2]
conf = SparkConf().setAppName("TwitterStreamApp").setMaster("local[2]")
sc = SparkContext(conf=conf)
sc.setLogLevel("ERROR")
ssc = StreamingContext(sc, 2)
ssc.checkpoint(checkpoint)
stream = ssc.socketTextStream("localhost", port)


def emit(obj):
    obj["t"] = time.time()
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def aggregate_tags_count(new_values, total_sum):
    return sum(new_values) + (total_sum or 0)


def counted(batch_time, rdd):
    emit({"kind": "count", "batch": batch_time.timestamp(), "n": rdd.count()})


def process_rdd(batch_time, rdd):
    spark = SparkSession.builder.config(conf=rdd.context.getConf()).getOrCreate()
    rows = rdd.map(lambda w: Row(hashtag=w[0], hashtag_count=w[1]))
    top = []
    if not rdd.isEmpty():
        df = spark.createDataFrame(rows)
        df.createOrReplaceTempView("hashtags")
        top = spark.sql(
            "select hashtag, hashtag_count from hashtags order by hashtag_count desc limit 10"
        ).collect()
    emit({"kind": "top", "batch": batch_time.timestamp(),
          "top": [[r.hashtag, r.hashtag_count] for r in top]})


stream.foreachRDD(counted)
words = stream.flatMap(lambda line: line.split(" "))
hashtags = words.filter(lambda w: "#" in w).map(lambda x: (x, 1))
totals = hashtags.updateStateByKey(aggregate_tags_count)
totals.foreachRDD(process_rdd)
ssc.start()
ssc.awaitTermination()
