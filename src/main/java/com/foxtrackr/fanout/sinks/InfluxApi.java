package com.foxtrackr.fanout.sinks;

import java.io.IOException;

import okhttp3.HttpUrl;
import okhttp3.Interceptor;
import okhttp3.Request;
import okhttp3.Response;

/**
 * InfluxDB 2.x and 3.x through their 1.x API, as their documentation describes it: each request carries the API
 * token (Authorization: Token); 2.x maps db and rp to a bucket, 3.x takes db as the database and no rp.
 */
final class InfluxApi implements Interceptor {
    private final String authorization;
    private final boolean withoutRetentionPolicy;

    InfluxApi(String token, boolean withoutRetentionPolicy) {
        this.authorization = "Token " + token;
        this.withoutRetentionPolicy = withoutRetentionPolicy;
    }

    @Override
    public Response intercept(Chain chain) throws IOException {
        Request request = chain.request();
        HttpUrl url = withoutRetentionPolicy ? request.url().newBuilder().removeAllQueryParameters("rp").build() : request.url();
        return chain.proceed(request.newBuilder().url(url).header("Authorization", authorization).build());
    }
}
